/**
 * Fault campaigns: a fault space (targets × fault models × moments), a golden run per moment, every
 * fault run from a snapshot and classified against it, results in JSON Lines and reports.
 */
export {
  atPc,
  atTime,
  bitFlip,
  everyNs,
  faultSpace,
  instruction,
  memory,
  onAccess,
  overwrite,
  registers,
  skip,
  stuckAt,
  symbol,
  type FaultModelSpec,
  type FaultSpacePart,
  type FaultSpaceSpec,
  type MomentSpec,
  type TargetSpec,
} from './space.js';
export {
  enumerateFaults,
  formatNs,
  parseShard,
  shardRange,
  type Fault,
  type FaultAction,
  type ResolvedMoment,
  type ResolvedTarget,
  type Shard,
  type SymbolLookup,
} from './enumerate.js';
export {
  OUTCOMES,
  compareEvidence,
  defaultClassifier,
  matchSignals,
  type Classifier,
  type ClassifierOptions,
  type ClassifyContext,
  type Evidence,
  type MemorySignal,
  type Outcome,
  type RunEnd,
  type Signals,
  type Verdict,
} from './outcome.js';
export { defineCampaign, resolveCampaign, type CampaignDefinition, type ObserveSpec, type ResolvedCampaign } from './definition.js';
export { runCampaign, type CampaignProgress, type RunCampaignOptions } from './runner.js';
export { CampaignResult, type RecordFilter } from './result.js';
export { readResultsFile, type CampaignHeader, type FaultRecord, type GoldenRecord } from './results-file.js';
export { mergeCampaignResults } from './merge.js';
export { renderHtmlReport, writeCampaignReport, OUTCOME_COLOURS } from './report.js';
export { loadCampaignDefinition } from './config-loader.js';
export { formatProgress } from './progress.js';
