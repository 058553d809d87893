import type { PluginChannel, TracedInstruction } from '../plugin/plugin-channel.js';
import type { ExecutedInstruction, ExecutionRecording } from './types.js';

/**
 * Records the instructions executed in a pc range from our plugin's trace events, numbering the
 * executions of each pc (`hit`, from 1) as they come. One recording per token.
 */
export async function recordExecution(plugin: PluginChannel, token: string, from: number, to: number): Promise<ExecutionRecording> {
  const instructions: ExecutedInstruction[] = [];
  const hits = new Map<bigint, number>();
  const take = (entries: TracedInstruction[]) => {
    for (const { pc, count, cpu } of entries) {
      const hit = (hits.get(pc) ?? 0) + 1;
      hits.set(pc, hit);
      instructions.push({ pc: Number(pc), hit, count, cpu });
    }
  };
  const off = plugin.on('trace', (t, entries) => t === token && take(entries));
  try {
    await plugin.armTrace(token, from, to);
  } catch (err) {
    off();
    throw err;
  }
  let stopped: Promise<ExecutedInstruction[]> | undefined;
  return {
    instructions,
    stop: () =>
      (stopped ??= (async () => {
        // The plugin sends the token's last batch before it answers the disarm.
        if (!plugin.isClosed) await plugin.disarm(token);
        off();
        return instructions;
      })()),
  };
}
