/**
 * The SQL console's editor: CodeMirror 6 with SQLite's dialect, syntax highlighting, and
 * completion of the store's tables and columns. Loaded only when the SQL view first opens,
 * so CodeMirror costs nothing to an inspector that never shows it.
 *
 * CodeMirror is told the shadow root it lives in (`root`), so its styles and selection
 * handling work inside the inspector's shadow DOM.
 */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { SQLite, sql, type SQLNamespace } from '@codemirror/lang-sql';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';

/** What the SQL view needs of its editor. */
export interface SqlEditor {
  getValue(): string;
  setValue(text: string): void;
  /** The tables and their columns, for completion. */
  setSchema(schema: Record<string, string[]>): void;
  focus(): void;
  destroy(): void;
}

/** Creates the editor in `parent`; `onRun` is called on Ctrl/Cmd-Enter. */
export function createSqlEditor(parent: HTMLElement, initial: string, onRun: () => void): SqlEditor {
  const language = new Compartment();
  const languageOf = (schema: SQLNamespace) => sql({ dialect: SQLite, schema, upperCaseKeywords: true });
  const root = parent.getRootNode();
  const view = new EditorView({
    parent,
    ...(root instanceof ShadowRoot || root instanceof Document ? { root } : {}),
    state: EditorState.create({
      doc: initial,
      extensions: [
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        placeholder('SELECT … (Ctrl-Enter runs it)'),
        EditorView.lineWrapping,
        keymap.of([
          // First, so that it wins over the default Mod-Enter (insert a blank line).
          { key: 'Mod-Enter', run: () => (onRun(), true), preventDefault: true },
          ...closeBracketsKeymap,
          ...completionKeymap,
          ...historyKeymap,
          ...defaultKeymap,
        ]),
        language.of(languageOf({})),
        EditorView.theme({
          '&': { backgroundColor: 'var(--bg)', color: 'var(--fg)' },
          '.cm-content': { caretColor: 'var(--fg)', minHeight: '80px' },
          '.cm-cursor': { borderLeftColor: 'var(--fg)' },
          '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: 'var(--bg3)' },
        }),
      ],
    }),
  });
  return {
    getValue: () => view.state.doc.toString(),
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    setSchema(schema) {
      view.dispatch({ effects: language.reconfigure(languageOf(schema)) });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
