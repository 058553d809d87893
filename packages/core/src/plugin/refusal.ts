/**
 * Turns the plugin's refusals into the package's errors, by the class the plugin sends with each
 * (never by matching its prose). Every plugin error message is built here.
 */
import { InvalidArgumentError, ProtocolError, type QemuFaultError, UnsupportedError } from '../errors.js';
import type { PluginErrorClass, PluginHello } from './protocol.js';

/** What a refusal's message can say about the QEMU it came from. */
export interface RefusalContext {
  hello?: PluginHello | undefined;
  /** e.g. `10.0.2`, from QMP's greeting, when known. */
  qemuVersion?: string | undefined;
}

/** Describes the QEMU for an "unsupported" message: version, plugin API, missing internals. */
export function describeQemu(context: RefusalContext): string {
  const parts = [context.qemuVersion ? `QEMU ${context.qemuVersion}` : 'this QEMU'];
  if (context.hello) parts.push(`plugin API ${context.hello.qemuApi.cur}`);
  const missing = context.hello?.missing ?? [];
  if (missing.length) parts.push(`internals not exported: ${missing.join(', ')}`);
  return parts.join(', ');
}

export function refusalError(verb: string, errorClass: PluginErrorClass, message: string, context: RefusalContext): QemuFaultError {
  switch (errorClass) {
    case 'usage':
      // We built the command: this is a bug on our side, or a plugin of another version.
      return new ProtocolError(`the plugin did not understand '${verb}': ${message}`);
    case 'unsupported':
      return new UnsupportedError(`the plugin's '${verb}'`, `${message} (${describeQemu(context)})`);
    case 'argument':
    case 'state':
    case 'access':
      return new InvalidArgumentError(`plugin: ${message}`);
  }
}
