import { type BuiltPlugin, buildPlugin } from '../plugin/build-plugin.js';

const built = new Map<string, Promise<BuiltPlugin>>();

/** Our plugin built for `binary`'s plugin API, once per process (and cached on disk across runs). */
export function pluginFor(binary: string): Promise<BuiltPlugin> {
  let plugin = built.get(binary);
  if (!plugin) {
    plugin = buildPlugin({ qemuBinary: binary });
    built.set(binary, plugin);
    plugin.catch(() => built.delete(binary));
  }
  return plugin;
}
