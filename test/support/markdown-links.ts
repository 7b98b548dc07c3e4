/**
 * Relative links in the repository's Markdown files, and which of them lead nowhere. marked's lexer finds the links
 * (inline, reference-style, in tables and lists; not the look-alikes inside code spans and code blocks) and the
 * headings; github-slugger turns a heading into the anchor GitHub gives it (duplicates get -1, -2, …).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import { lexer, walkTokens, type Token } from 'marked';

export interface BrokenLink {
  file: string;
  href: string;
  reason: string;
}

/** The repository's files (tracked, or new and not ignored), relative to `root`. */
export function repositoryFiles(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  });
  return out.split('\0').filter((file) => file !== '' && existsSync(path.join(root, file)));
}

/** A scheme (`https:`, `mailto:`) or a protocol-relative `//host`: not ours to check. */
function isExternal(href: string): boolean {
  return /^[a-z][a-z\d+.-]*:/i.test(href) || href.startsWith('//');
}

function plainText(tokens: Token[]): string {
  return tokens
    .map((token) => ('tokens' in token && token.tokens ? plainText(token.tokens) : 'text' in token ? token.text : ''))
    .join('');
}

/** The links of a Markdown text, and the anchors GitHub gives its headings. */
function scan(markdown: string): { hrefs: string[]; anchors: Set<string> } {
  const slugger = new GithubSlugger();
  const hrefs: string[] = [];
  const anchors = new Set<string>();
  walkTokens(lexer(markdown), (token) => {
    if (token.type === 'link' || token.type === 'image') hrefs.push(token.href);
    if (token.type === 'html') for (const [, href = ''] of token.raw.matchAll(/\bhref="([^"]*)"/g)) hrefs.push(href);
    if (token.type === 'heading') anchors.add(slugger.slug(plainText(token.tokens ?? [])));
  });
  return { hrefs, anchors };
}

/** The anchors GitHub gives the headings of a Markdown text. */
export function headingAnchors(markdown: string): Set<string> {
  return scan(markdown).anchors;
}

/**
 * The relative links of `markdown` (the text of `file`, a path relative to `root`) that do not resolve: to a file or
 * folder inside `root`, and, when they carry `#anchor` into a Markdown file, to one of its headings.
 */
export function brokenLinks(root: string, file: string, markdown: string): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const { hrefs, anchors: own } = scan(markdown);
  const anchorsOf = new Map<string, Set<string>>([[file, own]]);
  for (const href of hrefs) {
    if (isExternal(href)) continue;
    const fail = (reason: string) => broken.push({ file, href, reason });
    const hash = href.indexOf('#');
    const pathPart = decodeURIComponent(hash === -1 ? href : href.slice(0, hash));
    const anchor = hash === -1 ? '' : decodeURIComponent(href.slice(hash + 1));
    if (pathPart.startsWith('/')) {
      fail('absolute path: link relative to the file instead');
      continue;
    }
    const target = pathPart === '' ? file : path.normalize(path.join(path.dirname(file), pathPart));
    if (target === '..' || target.startsWith(`..${path.sep}`) || path.isAbsolute(target)) {
      fail('leads outside the repository');
      continue;
    }
    if (pathPart !== '' && !existsSync(path.join(root, target))) {
      fail(`no such file: ${target}`);
      continue;
    }
    if (anchor === '' || !target.endsWith('.md')) continue;
    let anchors = anchorsOf.get(target);
    if (!anchors) {
      anchors = headingAnchors(readFileSync(path.join(root, target), 'utf8'));
      anchorsOf.set(target, anchors);
    }
    if (!anchors.has(anchor)) fail(`no heading #${anchor} in ${target}`);
  }
  return broken;
}
