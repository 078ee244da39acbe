// The dashboard's built UI, embedded in the agent bundle: path -> gzipped bytes (base64), content type and
// ETag. This file is a stand-in: the bundle build (build-ui.mjs, called by scripts/build.mjs) replaces its
// content with the UI it just built. Run from source (tests, tsc output), there is no UI; the server then
// answers pages with a short note.

export interface UiAsset {
  type: string;
  /** gzip of the file, base64 */
  gz: string;
  etag: string;
}

export const UI_ASSETS: Record<string, UiAsset> = {};
