// @sosna/provisioning: device identities in bulk, device configs written into image files, flashing
// with verification, and the image build. Depends on @sosna/protocol only; the CLI composes it with the hub.
export * from './fleet.js';
export { parseCsv, formatCsv } from './csv.js';
export * from './image/layout.js';
export { buildImage, sha256File, MissingToolsError, requireTools } from './build/index.js';
export { BOARDS, BOARD_SPECS, parseBoard } from './build/boards.js';
export type { Board } from './build/boards.js';
export type { BuildOptions, BuildResult, ImageManifest } from './build/index.js';
export { configureImage, readImageConfig, readBootFile, findBootPartition, validateDeviceConfig, wpaSupplicantConf, compressionOf, ImageError } from './image/configure.js';
export type { ConfigureOptions, ConfigureResult, BootPartition, WifiSettings } from './image/configure.js';
export { syncFatCopies, parseFatBootSector } from './image/fat.js';
export { checkTarget, linuxSystem, parseMounts, parseSwaps, TargetRefused, SYSTEM_MOUNTS } from './flash/target.js';
export type { FlashTarget, SystemView, MountEntry } from './flash/target.js';
export { flashImage, formatProgress, expectedSha256, uncompressedSize, VerifyError } from './flash/flash.js';
export type { FlashProgress, FlashResult } from './flash/flash.js';
export { planLayout, sfdiskScript, makeFat, assembleDisk } from './build/disk.js';
export { butaneToIgnition, ButaneError, BUTANE_VARIANT, BUTANE_VERSION, IGNITION_VERSION } from './coreos/butane.js';
export type { IgnitionConfig, ButaneOptions } from './coreos/butane.js';
export { writeBalenaApp, lddPaths, renderTemplate, BalenaAppError } from './balena/app-image.js';
export type { BalenaAppOptions, BalenaAppBuild } from './balena/app-image.js';
