// Registers Switchyard's functions with functions-framework. Each is deployed as its own Cloud
// Function (gen2) with this module as source and its name as entry point (infra/ and shared/topology.ts).
import * as ff from '@google-cloud/functions-framework';
import { runControl } from '../shared/runtime/control.ts';
import { runNotify } from '../shared/runtime/notify.ts';
import { runSweep } from '../shared/runtime/sweep.ts';
import { shell } from './shell.ts';
import { analyze, deployGreen, rollback, scaleDown, switchTraffic } from './steps.ts';

ff.cloudEvent('deploy-green', shell('deploy-green', deployGreen));
ff.cloudEvent('analyze', shell('analyze', analyze));
ff.cloudEvent('switch', shell('switch', switchTraffic));
ff.cloudEvent('scale-down', shell('scale-down', scaleDown));
ff.cloudEvent('rollback', shell('rollback', rollback));
ff.cloudEvent(
  'control',
  shell('control', (d, msg) => runControl(d, msg.data)),
);
ff.cloudEvent(
  'sweep',
  shell('sweep', (d) => runSweep(d)),
);
ff.cloudEvent(
  'notify',
  shell('notify', (d, msg) => runNotify(d, msg.data)),
);
