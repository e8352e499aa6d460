import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Whether a program a stack script is about to start (nats-server) is there at all, so the script
// can say so in one line instead of failing with a spawn error.

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether `binary` would run: a path as given, a bare name found on the PATH. */
export function runnable(binary: string): boolean {
  if (binary.includes('/')) return isExecutableFile(binary);
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.some((dir) => isExecutableFile(join(dir, binary)));
}
