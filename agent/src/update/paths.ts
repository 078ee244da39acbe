// Where updates live under the state directory; apart from state.ts so that main.ts can look for them
// before loading any schema.
export const UPDATE_DIR = 'update';
export const BUNDLES_DIR = 'bundles';
export const UPDATE_STATE_FILE = 'state.json';
export const TRUST_FILE = 'trust.json';
