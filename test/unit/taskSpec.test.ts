// engine/compose/tasks.json is the one owner of the task ids and the prompt words (the lab reads it
// too; lab/tests/test_task_spec.py checks that both halves make the same of every chain). Here: what
// its JSON types cannot say, and that the prompts it gives are, byte for byte, the ones the bundled
// adapters and calibrations were trained with.

import assert from "node:assert/strict";
import {readdirSync, readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";
import {parseAdapterManifest} from "../../engine/adapters/manifest";
import {calibrationFileName} from "../../engine/calibrations/format";
import {readCalibrationSummary} from "../../engine/calibrations/read";
import {chainPrompt, taskInstruction} from "../../engine/compose/prompt";
import {
    ALL_TASKS,
    AUX_TASKS,
    type AuxTaskId,
    LANGUAGE_NAMES,
    LANGUAGES,
    type Language,
    type MainTaskId,
    type TaskId,
    TONES,
    type Tone,
} from "../../engine/compose/taskChain";
import spec from "../../engine/compose/tasks.json";
import {repoRoot} from "../support/realModel";

// Compile-time: the ids read from the JSON stay unions of literals (a plain `string` here would let
// any typo through every Record<TaskId, ...> and switch in the engine).
type IsLiteralUnion<T> = string extends T ? false : true;
const literalTypes: [
    IsLiteralUnion<MainTaskId>,
    IsLiteralUnion<AuxTaskId>,
    IsLiteralUnion<TaskId>,
    IsLiteralUnion<Language>,
    IsLiteralUnion<Tone>,
] = [true, true, true, true, true];

const root = repoRoot();

test("the task ids are literal types, and every auxiliary task is a translation or a tone", () => {
    assert.deepEqual(literalTypes, [true, true, true, true, true]);
    assert.deepEqual(
        [...AUX_TASKS].sort(),
        [...LANGUAGES.map((code) => `translate:${code}`), ...TONES.map((tone) => `tone:${tone}`)].sort(),
    );
    for (const code of LANGUAGES) assert.ok(LANGUAGE_NAMES[code].length > 0, code);
});

test("every instruction ends with the colon a composite's clauses go before, and has no input slot", () => {
    for (const task of ALL_TASKS) {
        assert.match(taskInstruction(task), /[^:]:$/, task);
        assert.ok(!taskInstruction(task).includes("{input}"), task);
    }
    assert.equal(spec.turn.template.split("{instruction}").length - 1, 1);
    assert.equal(spec.turn.template.split("{input}").length - 1, 1);
});

test("the bundled adapters were trained with the prompts the engine gives their tasks", () => {
    const dirs = readdirSync(join(root, "adapters"), {withFileTypes: true}).filter((entry) => entry.isDirectory());
    assert.ok(dirs.length >= ALL_TASKS.length, "a bundled adapter per task, at least");
    for (const dir of dirs) {
        const path = join(root, "adapters", dir.name, "manifest.json");
        const manifest = parseAdapterManifest(JSON.parse(readFileSync(path, "utf8")), path);
        const prompt = chainPrompt(manifest.task);
        assert.equal(manifest.promptTemplate, prompt.template, dir.name);
        assert.deepEqual(manifest.stopStrings, prompt.stopStrings, dir.name);
    }
});

test("the bundled calibrations carry the engine's prompt for their chain, under the engine's file name", async () => {
    const folders = readdirSync(join(root, "calibrations"), {withFileTypes: true}).filter((e) => e.isDirectory());
    let checked = 0;
    for (const folder of folders) {
        for (const name of readdirSync(join(root, "calibrations", folder.name))) {
            if (!name.endsWith(".gguf")) continue;
            const calibration = await readCalibrationSummary(join(root, "calibrations", folder.name, name));
            const prompt = chainPrompt(calibration.chain);
            assert.equal(calibration.promptTemplate, prompt.template, name);
            assert.deepEqual(calibration.stopStrings, prompt.stopStrings, name);
            assert.equal(calibrationFileName(calibration.chain, calibration.kind), name);
            checked++;
        }
    }
    assert.ok(checked >= 28, `${checked} bundled calibrations checked`);
});
