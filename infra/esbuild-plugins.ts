/**
 * Two esbuild plugins that let tree shaking do what the dependencies' own packaging prevents. Neither
 * changes what a kept line of code does; both only let esbuild drop code nothing reaches. The bundles
 * are the ones the local cloud runs and the tests exercise, so a plugin that dropped something needed
 * would fail them.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

const SCHEMAS_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/**
 * The AWS SDK's generated operation schemas (`schemas_0.js` of every client) write their trait objects
 * with computed keys, `{ [_h]: ["GET", "/things", 200] }`, `_h` being a module constant `"http"`.
 * esbuild cannot prove a computed key free of side effects (it might call toString), so it keeps every
 * schema of the client and what those refer to — all 200-odd operations of IoT (108 KB of 125) for the
 * ten commands a function sends. This rewrites each computed key whose name is one of the module's
 * string constants into that string literal; the object is the same. Upstream: aws/aws-sdk-js-v3#7607,
 * smithy-lang/smithy-typescript#1889 (the same change in the code generator).
 */
export const literalSchemaTraitKeys: Plugin = {
  name: 'literal-schema-trait-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMAS_MODULE }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const strings = new Map<string, string>();
      for (const match of source.matchAll(/^const (_[A-Za-z0-9_$]+) = ("(?:[^"\\\n]|\\.)*");$/gm))
        strings.set(match[1] as string, match[2] as string);
      const contents = source.replace(/\[(_[A-Za-z0-9_$]+)\]:/g, (computed, name: string) => {
        const literal = strings.get(name);
        return literal === undefined ? computed : `${literal}:`;
      });
      return { contents, loader: 'js' };
    });
  },
};

/**
 * Marks a package's modules free of import side effects, as its package.json would with
 * `"sideEffects": false`. dynamodb-toolbox 2 declares nothing, so esbuild keeps every module the
 * package index re-exports that has a class with static fields — the repositories, scan, deletePartition,
 * the JSON schemer — about 60 KB of every bundle that uses only put, get, update, query and transactions.
 * Its modules define classes and functions and register nothing globally.
 */
export const sideEffectFree = (packageName: string): Plugin => {
  const inPackage = new RegExp(`[\\\\/]node_modules[\\\\/]${packageName.replace('/', '[\\\\/]')}[\\\\/]`);
  return {
    name: `side-effect-free:${packageName}`,
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined;
        const resolved = await build.resolve(args.path, {
          importer: args.importer,
          namespace: args.namespace,
          resolveDir: args.resolveDir,
          kind: args.kind,
          pluginData: SKIP,
        });
        if (resolved.errors.length > 0 || !inPackage.test(resolved.path)) return undefined;
        return { path: resolved.path, namespace: resolved.namespace, sideEffects: false };
      });
    },
  };
};

const SKIP = Symbol('side-effect-free: resolving');
