// The soak campaign: writer threads store tagged words through DAX mappings of a
// datacow file (/d) and a nodatacow MAP_SYNC file (/n, every store flushed and fenced)
// while this thread commits, snapshots, reflinks, freezes and takes crash images, for a
// configurable time. Every crash image is mounted, fsck-ed and compared with what must
// have survived; every few batches the device itself "reboots" into a crash image and the
// campaign goes on from there. docs/reliability.md says what each check promises.
import { SoakCampaign } from './campaign.js';
import { soakSettings, type SoakOptions } from './options.js';
import type { SoakReport } from './report.js';

export type { SoakOptions } from './options.js';
export type { SoakReport } from './report.js';

export async function soak(options: SoakOptions = {}): Promise<SoakReport> {
  const campaign = await SoakCampaign.start(soakSettings(options));
  await campaign.run();
  return campaign.finish();
}
