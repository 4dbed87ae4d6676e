import { describe, expect, it } from 'vitest';

import { findOnPath, parseJavaMajorVersion, requireTools } from '../../../stack/prerequisites.ts';

describe('parseJavaMajorVersion', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
  ])('reads %s as %i', (output, major) => {
    expect(parseJavaMajorVersion(output)).toBe(major);
  });

  it('returns undefined for output it does not recognise', () => {
    expect(parseJavaMajorVersion('command not found')).toBeUndefined();
  });
});

describe('requireTools', () => {
  it('names every missing program with how to install it', async () => {
    const missing = [
      { command: 'imgpipe-no-such-tool-a', neededFor: 'a', install: 'get a' },
      { command: 'imgpipe-no-such-tool-b', neededFor: 'b', install: 'get b' },
    ];
    await expect(requireTools(missing)).rejects.toThrow(/imgpipe-no-such-tool-a \(for a\): get a\n.*imgpipe-no-such-tool-b \(for b\): get b/);
  });

  it('finds programs on PATH', () => {
    expect(findOnPath('sh')).toMatch(/\/sh$/);
    expect(findOnPath('sh', '')).toBeUndefined();
  });
});
