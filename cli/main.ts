// The `switchyard` command line (bin/switchyard runs it on the project's Node 24). Node's compile
// cache keeps the type-stripped, compiled modules between runs (in the system's temporary folder),
// which halves the start; it is enabled before the program is loaded, hence the dynamic import.
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { run } = await import('./program.ts');
process.exitCode = await run(process.argv);
