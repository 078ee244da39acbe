import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAgentShebang } from './commands/up.js';

describe('the agent bundle first line (how `sosna up` and the smoke image run it)', () => {
  it('reads the environment and the node flags', () => {
    expect(parseAgentShebang('#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=16384 A_B=x node --max-semi-space-size=1 --optimize-for-size')).toEqual({
      env: { MALLOC_MMAP_THRESHOLD_: '16384', A_B: 'x' },
      flags: ['--max-semi-space-size=1', '--optimize-for-size'],
    });
    expect(parseAgentShebang('#!/usr/bin/env -S node --a')).toEqual({ env: {}, flags: ['--a'] });
    expect(parseAgentShebang('#!/usr/bin/env -S node')).toEqual({ env: {}, flags: [] });
  });

  it('gives nothing for a line of another form', () => {
    expect(parseAgentShebang('#!/usr/bin/env node')).toEqual({ env: {}, flags: [] });
    expect(parseAgentShebang('import x from "y";')).toEqual({ env: {}, flags: [] });
  });

  it('matches what scripts/build.mjs writes', () => {
    const build = readFileSync(new URL('../../scripts/build.mjs', import.meta.url), 'utf8');
    const env = /AGENT_NODE_ENV = \[([^\]]*)\]/.exec(build)![1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
    const flags = /AGENT_NODE_FLAGS = \[([^\]]*)\]/.exec(build)![1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
    const line = `#!/usr/bin/env -S ${env.join(' ')} node ${flags.join(' ')}`;
    const parsed = parseAgentShebang(line);
    expect(parsed.flags).toEqual(flags);
    expect(Object.entries(parsed.env).map(([k, v]) => `${k}=${v}`)).toEqual(env);
  });
});
