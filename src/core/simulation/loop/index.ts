export { runLoop, type LoopOptions, type LoopPlatform, type LoopResult, type ServedList } from './engine.js';
export { InProcessPlatform, type Arm, type InProcessOptions } from './in-process.js';
export {
  summarize,
  conversionsOf,
  stratifiedWelch,
  welch,
  type ArmSummary,
  type UserOutcome,
  type Comparison,
} from './outcomes.js';
export { calibrateAlpha, examination, react, DEFAULT_TARGET_CTR, type Reaction } from './reaction.js';
export { knownPopulation, population, type LoopUser } from './users.js';
export {
  compareArms,
  HttpPlatform,
  runHttpLoop,
  type ArmComparison,
  type HttpFigures,
  type HttpLoopOptions,
  type HttpLoopReport,
} from './http.js';
export {
  compareAllocations,
  compareAllocationsOnWorld,
  type AllocationRun,
  type BanditComparison,
  type WorldComparisonOptions,
} from './bandit.js';
