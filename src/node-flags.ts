/**
 * How node was started, read the way node and V8 apply their flags: NODE_OPTIONS first, then node's
 * command line (it wins over NODE_OPTIONS); a flag given twice takes its last setting; V8 spells `-`
 * and `_` alike (`--max_semi_space_size=4`) and turns a boolean off with `--no-`. The one reader of
 * node's flags for every module that decides something from them (young-gc.ts, cli/semi-space.ts).
 */

/** Node's flags in the order node applies them. */
export function nodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env['NODE_OPTIONS']): string[] {
  const fromEnv = (nodeOptions ?? '').split(/\s+/).filter((arg) => arg !== '');
  return [...fromEnv, ...execArgv];
}

/**
 * The last setting of flag `name` (without the leading dashes) in `flags`: the text after `=`, true
 * for `--name`, false for `--no-name`, undefined when it is not given.
 */
export function lastNodeFlag(name: string, flags: readonly string[] = nodeFlags()): string | boolean | undefined {
  const wanted = spelled(name);
  let setting: string | boolean | undefined;
  for (const arg of flags) {
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const key = spelled(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
    if (key === wanted) setting = eq < 0 ? true : arg.slice(eq + 1);
    else if (eq < 0 && key === `no-${wanted}`) setting = false;
  }
  return setting;
}

function spelled(flag: string): string {
  return flag.replaceAll('_', '-');
}
