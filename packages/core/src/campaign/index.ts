/**
 * `@qemu-fault/core/campaign`: fault campaigns. A fault space (targets × fault models × moments,
 * moments also read off the golden run), one golden pass, every fault run from a snapshot before
 * its cluster of moments and classified against the golden run, results in JSON Lines and reports.
 */

export {
  CampaignAssertionError,
  CampaignConfigError,
  ClassifierError,
  ResultsFileError,
  SnapshotError,
  UnknownFaultError,
} from '../errors.js';
export { readBaseline } from './baseline.js';
export { CampaignComparison, type ComparedRecords, type OutcomeChange } from './compare.js';
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
export { isPairSpec, type PairSpec, pairs, type SecondFault } from './pairs.js';
export { type PowerLossSpec, type PreservedRegion, powerLoss } from './power-loss.js';
export { formatProgress } from './progress.js';
export { OUTCOME_COLOURS, type ReportOptions, renderHtmlReport, writeCampaignReport } from './report.js';
export { type FaultTrace, findFault, type GdbHandover, type ReproduceOptions, reproduceFault } from './reproduce.js';
export { formatFaultTrace } from './reproduce-trace.js';
export { CampaignResult, type RecordFilter } from './result.js';
export { type CampaignHeader, type FaultRecord, type GoldenRecord, readResultsFile } from './results-file.js';
export { type CampaignProgress, type RunCampaignOptions, runCampaign } from './runner.js';
export {
  DEFAULT_CONFIDENCE,
  drawSample,
  type SampleSpec,
  type Sampling,
  type SamplingInfo,
  STOP_CHECK_EVERY,
  type StopWhen,
} from './sample.js';
export { findAddr2line, type SourceLines, type SourceLocation, sourceLines } from './source-lines.js';
export { outcomesBySource, type SourceRow } from './source-table.js';
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
export { leveugleSampleSize, type OutcomeRate, outcomeRates, wilsonInterval, zScore } from './stats.js';
export type { SkipEffect, SkippedInstruction } from './thumb.js';
