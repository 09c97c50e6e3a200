/** Types of scripts/debian-next.js, for the tests that run its binaries (see that file). */
export declare const SUITE: string;
export declare const ROOT: string;
export declare const PACKAGES: Record<string, string>;
export interface DebianSource {
  readonly uris: string[];
  readonly suites: string[];
  readonly components: string[];
}
export interface SourcesOptions {
  readonly list?: string;
  readonly dir?: string;
  readonly codename?: string;
}
export declare function hostCodename(osRelease?: string): string;
export declare function hostSources(options?: SourcesOptions): DebianSource[];
export declare function hostMirror(options?: SourcesOptions): string;
export declare function libraryClosure(names: string[]): Record<string, string>;
export declare function ensure(names?: string[]): { root: string; extracted: Record<string, string> };
export declare function commandFor(binary: string): string[];
export declare function elfInterpreter(file: string): string | undefined;
/** Where `p` (a path inside the root, symlinks followed within it) is on this host. */
export declare function rootPath(p: string): string;
