/**
 * `@qemu-fault/core/campaign`: fault campaigns. A fault space (targets × fault models × moments,
 * moments also read off the golden run), one golden pass, every fault run from a snapshot before
 * its cluster of moments and classified against the golden run, results in JSON Lines and reports.
 */

export { CampaignAssertionError, CampaignConfigError, ClassifierError, ResultsFileError, SnapshotError } from '../errors.js';
export { loadCampaignDefinition } from './config-loader.js';
export { type CampaignDefinition, defineCampaign, type ObserveSpec, type ResolvedCampaign, resolveCampaign } from './definition.js';
export {
  enumerateFaults,
  type Fault,
  type FaultAction,
  formatNs,
  parseShard,
  type ResolvedMoment,
  type ResolvedTarget,
  type Shard,
  type SymbolLookup,
  shardRange,
} from './enumerate.js';
export type { InjectionEffect } from './inject.js';
export { mergeCampaignResults } from './merge.js';
export {
  type Classifier,
  type ClassifierOptions,
  type ClassifyContext,
  compareEvidence,
  defaultClassifier,
  type Evidence,
  type MemorySignal,
  matchSignals,
  OUTCOMES,
  type Outcome,
  type RunEnd,
  type Signals,
  type Verdict,
} from './outcome.js';
export { formatProgress } from './progress.js';
export { OUTCOME_COLOURS, renderHtmlReport, writeCampaignReport } from './report.js';
export { CampaignResult, type RecordFilter } from './result.js';
export { type CampaignHeader, type FaultRecord, type GoldenRecord, readResultsFile } from './results-file.js';
export { type CampaignProgress, type RunCampaignOptions, runCampaign } from './runner.js';
export {
  accessed,
  atPc,
  atTime,
  bitFlip,
  everyNs,
  executed,
  type FaultModelSpec,
  type FaultSpacePart,
  type FaultSpaceSpec,
  faultSpace,
  instruction,
  type MomentSpec,
  memory,
  onAccess,
  overwrite,
  registers,
  skip,
  stuckAt,
  symbol,
  type TargetSpec,
  type TraceMomentSpec,
} from './space.js';
export type { SkipEffect, SkippedInstruction } from './thumb.js';
