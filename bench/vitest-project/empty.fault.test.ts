// Vitest's own per-test cost, subtracted from the two files below.
import { expect, test } from 'vitest';
import { COUNT } from './tests.js';

for (let i = 0; i < COUNT; i++) test(`empty ${i}`, () => expect(i).toBe(i));
