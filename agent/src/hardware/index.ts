// Hardware detection: what this device is (CPU, memory, disks, network, GPUs, ASICs, board), which
// hardware profiles fit it, and live hardware metrics. Everything here takes its options as
// arguments; nothing is cached between calls.
export { detectHardware, DEFAULT_TIMEOUTS, type DetectOptions, type DetectResult, type DetectTimeouts, type DetectorName } from './detect.js';
export { formatInventory, formatInventoryJson, inventoryToJson, formatBytes, formatHashrate, type FormatOptions } from './format.js';
export { sampleHardwareMetrics, inventoryMetrics } from './metrics.js';
export { matchProfiles, type ProfileMatch, type ProfileMatches, type MatchRule } from './matcher.js';
export { PROFILE_DATA } from './profile-data.generated.js';
export { runCommand, type ExecFn, type ExecResult, type ExecOptions } from './exec.js';
export { systeminformationSource, type SystemInfoSource } from './system-detector.js';
export { queryCgminer } from './cgminer-client.js';
export type { CgminerQuery } from './asic-detector.js';
