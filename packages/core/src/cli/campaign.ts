import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/** The module that implements `qemu-fault campaign` (packages/core/src/campaign/cli.ts). */
interface CampaignCli {
  runCampaignCommand(argv: string[]): Promise<number>;
}

// A variable, so TypeScript does not insist on the module existing: this CLI ships with or without it.
const CAMPAIGN_MODULE = '../campaign/cli.js';

/** `qemu-fault campaign`: hands over to the campaign module, or says clearly that it is not there. */
export async function campaignCommand(argv: readonly string[], out: Output): Promise<number> {
  let module: Partial<CampaignCli>;
  try {
    module = (await import(CAMPAIGN_MODULE)) as Partial<CampaignCli>;
  } catch (err) {
    if (!isMissing(err)) throw err;
    out.error('qemu-fault campaign: fault campaigns are not part of this build of @qemu-fault/core (its campaign module is missing).');
    return ExitCode.USAGE;
  }
  if (typeof module.runCampaignCommand !== 'function') {
    out.error('qemu-fault campaign: the campaign module does not export runCampaignCommand(argv).');
    return ExitCode.USAGE;
  }
  return module.runCampaignCommand([...argv]);
}

/** The campaign module itself is absent (not: something it imports is broken, which must surface). */
function isMissing(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /campaign[/\\]cli\.(js|ts)/.test(message ?? '');
}
