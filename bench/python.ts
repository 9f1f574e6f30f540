// Runs the lab's Python (lab/.venv) as a subprocess with JSON in and out.

import {spawn} from "node:child_process";
import {existsSync} from "node:fs";
import {join} from "node:path";

export function labPython(root: string): string {
    const python = join(root, "lab", ".venv", "bin", "python");
    if (!existsSync(python)) throw new Error(`The lab's Python is missing (${python}): run "bash lab/setup.sh" first.`);
    return python;
}

/** Runs `python -m module ...args` in lab/, writes `input` (JSON) to stdin, parses stdout as JSON. */
export async function runPythonJson<T>(root: string, module: string, args: string[], input?: unknown): Promise<T> {
    const python = labPython(root);
    return new Promise<T>((resolve, reject) => {
        const child = spawn(python, ["-m", module, ...args], {
            cwd: join(root, "lab"),
            stdio: ["pipe", "pipe", "pipe"],
            env: {...process.env, OMP_NUM_THREADS: "1", PYTHONUNBUFFERED: "1"},
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
        child.on("error", reject);
        child.on("close", (code) => {
            const stderr = Buffer.concat(err).toString("utf8");
            if (code !== 0) {
                reject(new Error(`python -m ${module} exited with ${code}:\n${stderr.slice(-4000)}`));
                return;
            }
            try {
                resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as T);
            } catch (error) {
                reject(new Error(`python -m ${module} printed no JSON (${String(error)}):\n${stderr.slice(-2000)}`));
            }
        });
        child.stdin.end(input === undefined ? "" : JSON.stringify(input));
    });
}
