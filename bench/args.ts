// Command-line options of `node dist/bench.js`.

import {isMethod, type Method} from "../engine/compose/methods";
import {type ChainKey, LANGUAGES, type Language} from "../engine/compose/taskChain";
import {type Genre, parseRealTextCommands, parseRealTextGenres} from "./realTextCommands";
import {parseVariants, QUICK_VARIANTS, VARIANTS} from "./variants";

export interface BenchArgs {
    readonly quick: boolean;
    readonly methods: Method[] | null;
    readonly variants: ChainKey[];
    readonly n: number;
    readonly seed: number;
    readonly dataDir: string | null;
    /** Composite references (teacher targets); default lab/targets. */
    readonly targetsDir: string | null;
    /** Take the n shortest inputs (the quick mode). */
    readonly shortest: boolean;
    readonly out: string;
    /** "installed": the bundled/user pack as the extension sees it; "crafted": random, real shapes. */
    readonly pack: "installed" | "crafted";
    readonly quality: boolean;
    /** Formality control on CoCoA-MT's human formal/informal translations (bench/formality.ts). */
    readonly formality: boolean;
    readonly formalityLanguages: Language[];
    /** The real-text section (bench/realText.ts): every command on held-out human text of several genres. */
    readonly realText: boolean;
    /** Inputs per genre and command in the real-text section; null: the defaults (bench/realTextCommands.ts). */
    readonly realTextN: number | null;
    /** Only these commands in the real-text section; null: every command. */
    readonly realTextCommands: ChainKey[] | null;
    /** Only these genres in the real-text section; null: every genre. */
    readonly realTextGenres: Genre[] | null;
    readonly speed: boolean;
    /** The memory section (bench/memory.ts): the engine process against the 0.8 / 1.0 GB goals. */
    readonly memory: boolean;
    /** The PyTorch peer comparison (bench/peer.ts). */
    readonly peer: boolean;
    readonly peerInputs: number;
    /** The real work timed (bench/realWork.ts), and its emails per task. */
    readonly work: boolean;
    readonly workEmails: number;
    readonly reps: number;
    readonly speedInputs: number;
    readonly switchReps: number;
    readonly maxTokens: number;
    readonly speedMaxTokens: number;
    readonly threads: number;
    readonly model: string | null;
    readonly label: string | null;
    /** "default": what users get (DRY, loop guards); "paper": greedy only, the paper's decoding. */
    readonly decoding: "default" | "paper";
    /** A previous run's results.json: this run's scores against it, input by input (same inputs). */
    readonly baseline: string | null;
}

export const USAGE = `bench: the quality, efficiency and speed benchmark (bench/README.md)

  node dist/bench.js [--quick] [--methods m1,m2] [--variants v1,v2] [--n N] [--data-dir DIR]
                     [--out bench/results] [--pack installed|crafted] [--no-quality] [--no-speed]
                     [--no-memory] [--no-formality] [--no-real-text] [--real-text-n N]
                     [--real-text-commands c1,c2]
                     [--real-text-genres g1,g2] [--no-peer] [--peer-inputs K]
                     [--no-work] [--work-emails K]
                     [--reps R] [--speed-inputs K] [--switch-reps S] [--threads T] [--seed S] [--label L]

  --quick         a handful of examples, 4 variants (one per group), a crafted pack, short
                  generations: checks that every method and metric runs end to end (not the scores)
  --n N           examples per main task (default 20); every variant of a main task uses the same inputs
  --data-dir DIR  read evaluation inputs from DIR (same formats as ../shared/data) instead of the dev splits
  --targets-dir D composite references (lab/targets layout: <chain file key>.jsonl); default lab/targets
  --pack          artifacts for the quality run (default installed); the speed run uses a crafted
                  pack of the real shapes (speed depends only on shapes)
  --no-formality  skip the translation checks: formality (CoCoA-MT: "translate, professional /
                  casual tone" vs human formal and informal translations) and translate:X alone
                  on NTREX news (n sentences per language each)
  --no-real-text  skip the real-text section: every command (each task, the 14 composites, chains of
                  three) with the engine's defaults (method auto, its own token budget) on held-out
                  emails, news paragraphs, dialogues, customer messages and long documents, judged
                  for broken outputs (loops, cuts, wrong language, dropped content, ...)
  --real-text-n N inputs per genre and command in the real-text section (default 8 emails, 6 of
                  each other genre, 3 long documents; long documents are at most 3); --quick: 2
  --real-text-commands c1,c2
                  only these commands in the real-text section (chain keys as \`composer chains\`
                  lists them, e.g. translate:fr,summarize+translate:fr)
  --real-text-genres g1,g2
                  only these genres in the real-text section (email, news, dialogue, customer, long)
  --no-peer       skip the PyTorch peer (the lab's implementation of the same LC++ composite)
  --no-memory     skip the memory section: the engine process (default settings, installed pack)
                  with the pack open, with 4 warm composites, and its peak under 20 concurrent
                  requests, against the goals (0.8 GB, 1.0 GB); --speed-inputs K inputs, --max-tokens
  --no-work       skip the real work timed: an email summarized to French and a casual reply
                  (one pass next to two passes and to the PyTorch path), the longest held-out
                  document summarized; --work-emails K emails per task (default 3; --quick: 1,
                  the first task only, no PyTorch path)
  --out DIR       reports go to DIR/<date>/ (default bench/results); the generation cache is DIR/cache/
  --decoding D    the quality run's decoding: default (what users get: DRY, loop guards) or paper
                  (greedy only); the real-text section always uses the default
  --baseline F    a previous run's results.json: the quality scores against it, input by input
`;

export function parseArgs(argv: readonly string[]): BenchArgs {
    const quick = argv.includes("--quick");
    const options: Record<string, string> = {};
    const flags = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i] ?? "";
        if (!arg.startsWith("--")) throw new Error(`Unexpected argument "${arg}".\n\n${USAGE}`);
        const name = arg.slice(2);
        if (
            [
                "quick",
                "no-quality",
                "no-speed",
                "no-memory",
                "no-formality",
                "no-real-text",
                "no-peer",
                "no-work",
                "help",
            ].includes(name)
        ) {
            flags.add(name);
            continue;
        }
        const value = argv[i + 1];
        if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value.\n\n${USAGE}`);
        options[name] = value;
        i++;
    }
    if (flags.has("help")) throw new Error(USAGE);
    const known = [
        "methods",
        "variants",
        "n",
        "seed",
        "data-dir",
        "targets-dir",
        "out",
        "pack",
        "reps",
        "speed-inputs",
        "peer-inputs",
        "work-emails",
        "switch-reps",
        "max-tokens",
        "threads",
        "model",
        "label",
        "real-text-n",
        "real-text-commands",
        "real-text-genres",
        "decoding",
        "baseline",
    ];
    for (const key of Object.keys(options))
        if (!known.includes(key)) throw new Error(`Unknown option --${key}.\n\n${USAGE}`);
    const int = (key: string, fallback: number) => {
        const value = options[key];
        if (value === undefined) return fallback;
        const parsed = Number(value);
        if (!Number.isInteger(parsed) || parsed < 1)
            throw new Error(`--${key} needs a positive integer, got "${value}".`);
        return parsed;
    };
    const methods =
        options.methods === undefined
            ? null
            : options.methods.split(",").map((m) => {
                  if (!isMethod(m.trim())) throw new Error(`Unknown method "${m}".`);
                  return m.trim() as Method;
              });
    const decoding = options.decoding ?? "default";
    if (decoding !== "default" && decoding !== "paper")
        throw new Error(`--decoding is default or paper, got "${decoding}".`);
    const pack = options.pack ?? (quick ? "crafted" : "installed");
    if (pack !== "installed" && pack !== "crafted") throw new Error(`--pack is installed or crafted, got "${pack}".`);
    return {
        quick,
        methods,
        variants:
            options.variants !== undefined
                ? parseVariants(options.variants)
                : quick
                  ? [...QUICK_VARIANTS]
                  : VARIANTS.map((v) => v.key),
        n: int("n", quick ? 1 : 20),
        seed: int("seed", 1234),
        dataDir: options["data-dir"] ?? null,
        targetsDir: options["targets-dir"] ?? null,
        shortest: quick,
        out: options.out ?? "bench/results",
        pack,
        quality: !flags.has("no-quality"),
        formality: !flags.has("no-formality"),
        // The quick mode's crafted pack has translate:de (from reply+translate:de) and no tone adapter.
        formalityLanguages: quick ? ["de"] : [...LANGUAGES],
        realText: !flags.has("no-real-text"),
        realTextN: options["real-text-n"] === undefined ? null : int("real-text-n", 1),
        realTextCommands:
            options["real-text-commands"] === undefined ? null : parseRealTextCommands(options["real-text-commands"]),
        realTextGenres:
            options["real-text-genres"] === undefined ? null : parseRealTextGenres(options["real-text-genres"]),
        speed: !flags.has("no-speed"),
        memory: !flags.has("no-memory"),
        peer: !flags.has("no-peer"),
        peerInputs: int("peer-inputs", quick ? 1 : 3),
        work: !flags.has("no-work"),
        workEmails: int("work-emails", quick ? 1 : 3),
        reps: int("reps", quick ? 1 : 3),
        speedInputs: int("speed-inputs", quick ? 1 : 3),
        switchReps: int("switch-reps", quick ? 1 : 10),
        maxTokens: int("max-tokens", quick ? 4 : 128),
        speedMaxTokens: int("max-tokens", quick ? 4 : 128),
        // 1 thread in the quick mode: on a busy 2-core machine 2 threads collapse (bench/README.md).
        threads: int("threads", quick ? 1 : 2),
        model: options.model ?? null,
        label: options.label ?? null,
        decoding,
        baseline: options.baseline ?? null,
    };
}
