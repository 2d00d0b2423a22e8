// A second thread that attaches to a device and tries to mount it (and mkfs it): the
// ownership test posts back each errno name ('ok' when the call worked). Plain JS.
import { parentPort, workerData } from 'node:worker_threads';
import { FileSystem, FsError, PmemDevice } from '../../dist/index.js';

function errnoOf(f) {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

const dev = PmemDevice.attach(workerData.handle);
const result = { mount: '', mkfs: '', read: '' };
let fs = null;
result.mount = errnoOf(() => { fs = FileSystem.mount(dev); });
result.mkfs = errnoOf(() => FileSystem.mkfs(dev));
if (fs) {
  result.read = new TextDecoder().decode(fs.readFile('/committed'));
  fs.unmount();
}
dev.close();
parentPort.postMessage(result);
