// package.json's contributions must match what the extension registers: one palette command per
// main x auxiliary pair, titled like chainTitle and shown only while its context key is set;
// every command titled through package.nls.json; path settings restricted in untrusted workspaces.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";
import {DEFAULT_ENGINE_LIMITS} from "../../engine/limits";
import {
    chainTitle,
    compositeCommandId,
    contributedComposites,
    offeredContextKey,
} from "../../extension/chains/chainMenu";
import {OUTPUT_MODES} from "../../extension/review/outputPlan";
import {DEFAULT_SETTINGS} from "../../extension/settings";
import {repoRoot} from "../support/realModel";

interface Manifest {
    main: string;
    contributes: {
        commands: {command: string; title: string}[];
        menus: {commandPalette: {command: string; when: string}[]};
        configuration: {properties: Record<string, unknown>};
    };
    capabilities: {untrustedWorkspaces: {supported: string; restrictedConfigurations: string[]}};
}

const root = repoRoot();
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
const nls = JSON.parse(readFileSync(join(root, "package.nls.json"), "utf8")) as Record<string, string>;

test("every composite pair is contributed with its title and shown only when offered", () => {
    const commands = new Map(manifest.contributes.commands.map((c) => [c.command, c.title]));
    const palette = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    for (const chain of contributedComposites()) {
        const id = compositeCommandId(chain);
        const title = commands.get(id);
        assert.ok(title, `${id} is contributed`);
        assert.equal(nls[title.slice(1, -1)], chainTitle(chain));
        assert.equal(palette.get(id), offeredContextKey(chain));
    }
});

test("every command title is localizable and defined", () => {
    for (const {command, title} of manifest.contributes.commands) {
        assert.match(title, /^%.+%$/, command);
        assert.ok(nls[title.slice(1, -1)], `${title} is in package.nls.json`);
    }
});

test("model and adapter paths cannot come from an untrusted workspace", () => {
    const {supported, restrictedConfigurations} = manifest.capabilities.untrustedWorkspaces;
    assert.equal(supported, "limited");
    assert.deepEqual(restrictedConfigurations.sort(), ["composer.adapterDirectories", "composer.baseModel"]);
    for (const key of restrictedConfigurations) assert.ok(key in manifest.contributes.configuration.properties);
    assert.equal(manifest.main, "./dist/extension.cjs");
});

test("the output mode setting offers exactly the modes the extension reads, auto by default", () => {
    const setting = manifest.contributes.configuration.properties["composer.outputMode"] as {
        enum: string[];
        enumDescriptions: string[];
        default: string;
    };
    assert.deepEqual(setting.enum, [...OUTPUT_MODES]);
    assert.equal(setting.default, "auto");
    assert.equal(setting.enumDescriptions.length, setting.enum.length);
    for (const description of setting.enumDescriptions) assert.ok(nls[description.slice(1, -1)], description);
});

test("review documents are a language whose default turns word wrap on", () => {
    const {languages, configurationDefaults} = manifest.contributes as unknown as {
        languages: {id: string; extensions: string[]}[];
        configurationDefaults: Record<string, Record<string, unknown>>;
    };
    // The id and extension reviewController.ts gives its virtual documents (REVIEW_LANGUAGE).
    const review = languages.find((language) => language.id === "composer-review");
    assert.deepEqual(review?.extensions, [".composer-review"]);
    assert.equal(configurationDefaults["[composer-review]"]?.["editor.wordWrap"], "on");
    // Accents are what a translation is made of: not flagged (in Restricted Mode VS Code flags every non-ASCII letter).
    assert.equal(configurationDefaults["[composer-review]"]?.["editor.unicodeHighlight.nonBasicASCII"], false);
});

test("every setting's default in package.json is the default the extension reads", () => {
    const properties = manifest.contributes.configuration.properties as Record<string, {default?: unknown}>;
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
        const setting = properties[`composer.${key}`];
        assert.ok(setting, `composer.${key} is contributed`);
        assert.deepEqual(setting.default, value, `composer.${key}`);
    }
    assert.equal(DEFAULT_SETTINGS.contextSize, DEFAULT_ENGINE_LIMITS.contextSize);
    assert.equal(DEFAULT_SETTINGS.contextMemoryMB * 2 ** 20, DEFAULT_ENGINE_LIMITS.contextMemoryBytes);
});
