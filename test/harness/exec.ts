// The command runner lives with the lab launchers (src/lab), which the lab
// and the tests share; re-exported so CommandError stays one class.
export { CommandError, haveCommand, run, runSync, type ExecResult } from '../../src/lab/exec.js';
