// The soak campaign (docs/reliability.md).
export { soak, type SoakOptions, type SoakReport } from './soak.js';
