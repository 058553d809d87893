// Power cuts at every write to the example firmware's "non-volatile" record (`nvm`, its own
// section, which the cut preserves): the next boot either recovers (`nvm: ok` or `nvm: blank`,
// then saves its records and exits 0) or finds the record corrupt (`nvm: corrupt`, exit 11).
// Without a journal (`nvm`) most write points corrupt it; with the two-slot journal
// (`nvm_journal`) none does — whole writes or torn ones.
import { type CampaignDefinition, defineCampaign, faultSpace, onAccess, powerLoss, symbol } from '@qemu-fault/core/campaign';

export type NvmApp = 'nvm' | 'nvm_journal';

/** Writes to `nvm` in a golden run (see examples/firmware/README.md). */
export const NVM_WRITES: Record<NvmApp, number> = { nvm: 14, nvm_journal: 18 };

/** The campaign on `app`: a cut right after each write (and, with `tear`, one torn after `tear` bytes). */
export function nvmPowerLossCampaign(app: NvmApp, options: { tear?: number } = {}): CampaignDefinition {
  return defineCampaign({
    name: `power-loss-${app}${options.tear !== undefined ? '-torn' : ''}`,
    machine: 'mps2-an385',
    kernel: new URL(`../firmware/build/mps2-an385/${app}.elf`, import.meta.url),
    space: faultSpace({
      targets: [symbol('nvm')],
      models: [powerLoss({ preserve: ['nvm'], ...options })],
      moments: Array.from({ length: NVM_WRITES[app] }, (_, k) => onAccess('nvm', { access: 'write', hit: k + 1 })),
    }),
    observe: { memory: ['nvm'], serial: true },
    // The next boot finding its storage corrupt is what this campaign looks for.
    detect: { exitCodes: [11], serial: ['nvm: corrupt'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
    // After a cut the output differs from the uninterrupted run by design: a boot that ends
    // normally (exit 0) recovered, whatever it printed.
    classify: (run, { defaultVerdict }) =>
      defaultVerdict.outcome === 'silent' && run.end === 'exit' && run.exitCode === 0
        ? { outcome: 'masked', reason: `recovered: ${(run.serial ?? '').split('\n').find((l) => l.startsWith('nvm: ')) ?? ''}` }
        : defaultVerdict,
  });
}
