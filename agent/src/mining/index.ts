// Rig mode: mine when no job pays more (issue 15). Flight-sheet checks, the miner process, its API, the profit planner.
export { checkFlightSheet, minerArgv, resolveCommand, type RigGpu, type SheetCheck } from './flight-sheet.js';
export { MinerSupervisor, type MinerState } from './supervisor.js';
export { parseXmrigSummary, parseXmrigBackends, readXmrig, minerMetrics, type MinerStats } from './xmrig.js';
export { MiningRig, FlightSheetError, type RigOptions } from './rig.js';
export { planRig, revenuePerSec, powerCostPerSec, type Plan, type PlanConfig, type PlannerState, type GpuView, type GpuDecision, type Bid, type Rate } from './planner.js';
export { ProfitSwitch, type ProfitDeps } from './profit.js';
export { planWatchdog, initialWatchdog, type WatchdogAction, type WatchdogConfig, type WatchdogState } from './watchdog.js';
export { RigLedger, LEDGER_FILE, type LedgerOptions } from './ledger.js';
export { Tuner, tuningPlan, type TuneStep, type TuneResult, type TuneAction } from './tuning.js';
export { parseTrexSummary, readTrex } from './trex.js';
export { parseLolminer, readLolminer, unitFactor } from './lolminer.js';
export { parseGminerStat, readGminer } from './gminer.js';
export { RunGpus, type RunGpusDeps } from './run-gpus.js';
