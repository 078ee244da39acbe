export { startAgent } from './app.js';
export type { Agent, AgentOptions } from './app.js';
export { loadConfig, ConfigError } from './config.js';
export { planTelemetry } from './telemetry.js';
export { AGENT_VERSION } from './version.js';
export { provision } from './provision.js';
export { StateStore } from './state.js';
export { Credentials } from './credentials.js';
