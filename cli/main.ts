// The `switchyard` command line (bin/switchyard runs it on the project's Node 24).
import { run } from './program.ts';

process.exitCode = await run(process.argv);
