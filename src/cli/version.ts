export { packageVersion } from '../util/version.js';
