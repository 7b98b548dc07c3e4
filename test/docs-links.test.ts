/**
 * The documentation stands alone: every relative link in the repository's Markdown files (README.md, docs/,
 * bench/RESULTS.md, …) leads to a file in the repository, and an anchor to a heading of its target; and nothing in the
 * repository cites material outside it (the design notes and references the project started from).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { brokenLinks, headingAnchors, repositoryFiles } from './support/markdown-links.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = repositoryFiles(root);
const markdown = files.filter((file) => file.endsWith('.md'));

/** A file's text, or '' when it went away after the listing (other test files plant and remove modules in src/). */
function readIfPresent(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

describe('documentation links', () => {
  it('covers the README, every page of docs/ and the benchmark results', () => {
    expect(markdown).toContain('README.md');
    expect(markdown).toContain('bench/RESULTS.md');
    expect(markdown.filter((file) => file.startsWith('docs/')).length).toBeGreaterThan(5);
  });

  it('every relative link resolves inside the repository, anchors included', () => {
    const broken = markdown.flatMap((file) => brokenLinks(root, file, readFileSync(path.join(root, file), 'utf8')));
    expect(broken).toEqual([]);
  });

  it('reports a missing file, a missing heading, a link out of the repository and an absolute path', () => {
    const page = [
      '# A page',
      '## Its second heading',
      'Fine: [self](#its-second-heading), [up](../README.md), [a folder](../docs/), [web](https://example.com/x.md).',
      'Broken: [gone](missing.md), [nowhere](#no-such-heading), [other](../README.md#no-such-heading-there),',
      '[out](../../outside.md), [root](/README.md).',
      '`[in code](ignored.md)`',
    ].join('\n\n');
    expect(brokenLinks(root, 'docs/example.md', page).map(({ href }) => href)).toEqual([
      'missing.md',
      '#no-such-heading',
      '../README.md#no-such-heading-there',
      '../../outside.md',
      '/README.md',
    ]);
  });

  it('forms anchors as GitHub does', () => {
    const anchors = headingAnchors("# Choices where Azure's behaviour is `[?]` unconfirmed\n\n## Keys\n\n## Keys\n");
    expect([...anchors]).toEqual(['choices-where-azures-behaviour-is--unconfirmed', 'keys', 'keys-1']);
  });
});

describe('the repository stands alone', () => {
  // The material the project started from lives outside the repository; what a reader needs of it is in docs/.
  const citation = /shared\/(?:reference|seeds)\b|shared\/DESIGN\.md|\/work\/+shared\b/;
  const markdownCitation = /\.\.\/shared\b/;

  it('cites no design notes or references from outside the repository, in any file', () => {
    const citing = files.filter((file) => {
      if (/\.(png|jpe?g|gif|ico|wasm)$/.test(file)) return false;
      const text = readIfPresent(path.join(root, file));
      return citation.test(text) || (file.endsWith('.md') && markdownCitation.test(text));
    });
    expect(citing).toEqual([]);
  });
});
