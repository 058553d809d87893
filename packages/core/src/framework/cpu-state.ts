import type { Architecture } from '../arch/index.js';
import type { Registers } from '../triggers/registers.js';
import type { MachineArchitectures } from './architectures.js';
import type { CpuRef, Cpus } from './cpus.js';
import type { GuestMemory } from './guest-memory.js';
import type { InjectionTrace } from './injection-trace.js';
import { skipInstructions } from './instruction-skip.js';
import type { TriggerCalls } from './trigger-calls.js';

/** What {@link CpuState} works with. */
export interface CpuStateDeps {
  triggers: TriggerCalls;
  cpus: Cpus;
  architectures: MachineArchitectures;
  memory: GuestMemory;
  /** Whether the VM is paused (registers are served then, and at freezes). */
  paused(): boolean;
  trace: InjectionTrace;
}

/** The framework's CPU calls: CPU references resolved, registers by name, instruction skip. */
export class CpuState {
  constructor(private readonly deps: CpuStateDeps) {}

  /** A CPU's index, or undefined for "any" (triggers) or "the frozen one" (registers). */
  async index(cpu: CpuRef | undefined): Promise<number | undefined> {
    return cpu === undefined ? undefined : this.deps.cpus.index(cpu);
  }

  async architecture(cpu: CpuRef): Promise<Architecture> {
    return this.deps.architectures.of(await this.deps.cpus.index(cpu));
  }

  /** Registers taking CPU references; `talk` wraps every call (the framework explains lost connections there). */
  registers(talk: <T>(call: () => Promise<T>) => Promise<T>): Registers<CpuRef> {
    const registers = this.deps.triggers.registers(this.deps.paused);
    const on = async (options: { cpu?: CpuRef } = {}) => ({ cpu: await this.index(options.cpu) });
    return {
      get: ((name, options) => talk(async () => registers.get(name, await on(options)))) as Registers<CpuRef>['get'],
      set: (name, value, options) => talk(async () => registers.set(name, value, await on(options))),
      all: (options) => talk(async () => registers.all(await on(options))),
    };
  }

  async skip(count: number, cpuRef: CpuRef | undefined): Promise<bigint> {
    const cpu = await this.index(cpuRef);
    // In a callback the frozen CPU is the default; while paused, CPU 0.
    const which = cpu ?? this.deps.triggers.engine?.frozenCpu ?? 0;
    const target = {
      registers: this.deps.triggers.registers(this.deps.paused),
      architecture: await this.deps.architectures.of(which),
      readCode: (address: bigint, length: number) => this.deps.memory.readBytes(address, length, { cpu: which }),
    };
    const pc = await skipInstructions(target, count, cpu);
    this.deps.trace.record('register', `skip ${count} instruction(s) on cpu ${which}: pc = 0x${pc.toString(16)}`);
    return pc;
  }
}
