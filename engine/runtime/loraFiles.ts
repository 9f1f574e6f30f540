// node-llama-cpp keeps every LoRA it loads for the model's lifetime, keyed by file path, so an
// adapter replaced at the same path (`adapters install --replace`, then a refresh) would go on
// running with the old weights in a long-lived engine; measured: the replaced adapter's text
// stayed the old one until the engine restarted. The engine therefore gives llama.cpp a path
// named by the file's sha256: a hard link (pinned to the content that was hashed), or a symbolic
// link where hard links are impossible, in a cache folder. The link must be the file version the
// store hashed (files/fileVersion.ts; hashed again only if it is not), so a file changed on disk
// since it was listed is refused with a clear message, not loaded.

import {randomBytes} from "node:crypto";
import {link, lstat, mkdir, readdir, rename, rm, symlink, unlink} from "node:fs/promises";
import {join} from "node:path";
import {AdapterChangedError} from "../adapters/errors";
import {type HashedFile, versionHoldingHash} from "../files/sha256";

const PRUNE_AFTER_MS = 10 * 60 * 1000;

export class ContentAddressedLoras {
    private readonly verified = new Map<string, Promise<string>>();

    constructor(
        private readonly dir: string,
        private readonly pruneAfterMs = PRUNE_AFTER_MS,
    ) {}

    /** A path named by `file.sha256` whose content is `file.filePath`'s, checked to be the version hashed. */
    pathFor(file: HashedFile): Promise<string> {
        const {sha256} = file;
        let path = this.verified.get(sha256);
        if (path === undefined) {
            path = this.create(file);
            this.verified.set(sha256, path);
            path.catch(() => {
                if (this.verified.get(sha256) === path) this.verified.delete(sha256);
            });
        }
        return path;
    }

    /**
     * Deletes links for content no longer installed (a hard link keeps a removed file's bytes
     * alive). Links made in the last 10 minutes stay: another engine process may be about to load one.
     */
    async prune(keep: ReadonlySet<string>): Promise<void> {
        for (const name of await readdir(this.dir).catch(() => [] as string[])) {
            const sha = /^([0-9a-f]{64})\.gguf$/.exec(name)?.[1];
            if (sha === undefined || keep.has(sha) || this.verified.has(sha)) continue;
            const path = join(this.dir, name);
            const changed = await lstat(path).then(
                (info) => info.ctimeMs,
                () => Date.now(),
            );
            // Whole milliseconds, as Date.now() counts them: a link made this millisecond is 0 ms old.
            if (Date.now() - Math.floor(changed) >= this.pruneAfterMs) await unlink(path).catch(() => undefined);
        }
    }

    private async create(file: HashedFile): Promise<string> {
        const {filePath, sha256} = file;
        await mkdir(this.dir, {recursive: true});
        const target = join(this.dir, `${sha256}.gguf`);
        const temp = join(this.dir, `.${sha256}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
        try {
            await link(filePath, temp).catch(() => symlink(filePath, temp));
            // Checked through the new link: for a hard link these are exactly the bytes llama.cpp will read.
            if ((await versionHoldingHash({...file, filePath: temp})) === null)
                throw new AdapterChangedError(filePath, ` (listed as sha256 ${sha256.slice(0, 16)}…)`);
            await rename(temp, target);
            return target;
        } finally {
            await rm(temp, {force: true});
        }
    }
}
