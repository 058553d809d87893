import { chardevSocketOptions, qemuServerSpec, type SocketAddress } from '../transport/address.js';

/** Where each channel of a launched QEMU listens. */
export interface ChannelAddresses {
  qmp: SocketAddress;
  qtest?: SocketAddress | undefined;
  gdb?: SocketAddress | undefined;
  serial?: SocketAddress | undefined;
  /** A human monitor (HMP, readline mode) on its own socket. */
  hmp?: SocketAddress | undefined;
  /**
   * Our plugin, where it listens (`-plugin <so>,listen=PATH`: a QEMU started by hand). Its
   * `-plugin` argument needs the built plugin, so it is not among {@link buildQemuArgs}'s.
   */
  plugin?: SocketAddress | undefined;
}

/** What goes on QEMU's command line besides the channels. */
export interface MachineArgs {
  machine: string;
  kernel?: string | undefined;
  /** How the kernel is loaded: `-kernel`, QEMU's generic `loader` device, or not (the args do it). Default `-kernel`. */
  loadKernel?: 'kernel' | 'loader' | 'none' | undefined;
  cpu?: string | undefined;
  memory?: string | undefined;
  semihosting: boolean;
  /** `exit`: a guest reset ends QEMU (`-no-reboot`) instead of rebooting the board. */
  onReset: 'reboot' | 'exit';
  args: readonly string[];
}

/** Builds QEMU's argument list (never a shell string): paused, headless, every channel on its own socket. */
export function buildQemuArgs(machine: MachineArgs, channels: ChannelAddresses): string[] {
  const args = ['-M', machine.machine, '-S', '-display', 'none', '-nodefaults', '-accel', 'tcg'];
  if (machine.cpu) args.push('-cpu', machine.cpu);
  if (machine.memory) args.push('-m', machine.memory);
  if (machine.kernel && machine.loadKernel !== 'none') {
    // QEMU's option syntax doubles a comma inside a value.
    if (machine.loadKernel === 'loader') args.push('-device', `loader,file=${machine.kernel.replaceAll(',', ',,')}`);
    else args.push('-kernel', machine.kernel);
  }
  if (machine.semihosting) args.push('-semihosting-config', 'enable=on,target=native');
  if (machine.onReset === 'exit') args.push('-no-reboot');
  args.push('-qmp', qemuServerSpec(channels.qmp));
  // -qtest-log keeps qtest from echoing every command to stderr.
  if (channels.qtest) args.push('-qtest', qemuServerSpec(channels.qtest), '-qtest-log', '/dev/null');
  if (channels.gdb) args.push('-gdb', qemuServerSpec(channels.gdb));
  if (channels.serial) {
    args.push('-chardev', `socket,id=serial0,${chardevSocketOptions(channels.serial)}`);
    args.push('-serial', 'chardev:serial0');
  }
  if (channels.hmp) args.push('-chardev', `socket,id=qfhmp,${chardevSocketOptions(channels.hmp)}`, '-mon', 'chardev=qfhmp,mode=readline');
  args.push(...machine.args);
  return args;
}
