// `node --import ./test/server/ts-register.mjs …`: see scripts/ts-hooks.mjs.
import { register } from 'node:module';

register('../../scripts/ts-hooks.mjs', import.meta.url);
