import { useId, useMemo, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import {
  collectInputs,
  describeBounds,
  describeSchema,
  initialValues,
  isCheckbox,
  optionLabel,
} from '../lib/inputs-form';
import type { Field, FieldValue, FormValues } from '../lib/inputs-form';
import './inputs-form.css';

/**
 * A form for a workflow's inputs, generated from its input JSON Schema (lib/inputs-form.ts): a field per
 * property, nested objects as groups, a JSON text box for what a form cannot show, and one JSON text box
 * for the whole inputs when there is no schema. Bad values are named under their field before anything
 * is sent; the server checks the inputs again.
 */
export function InputsForm(props: InputsFormProps) {
  // Another schema is another form: what was typed for the old one starts over.
  return <Form key={JSON.stringify(props.schema ?? null)} {...props} />;
}

export interface InputsFormProps {
  schema: Record<string, unknown> | undefined;
  onSubmit: (inputs: Record<string, unknown>) => void;
  submitLabel?: string;
  busy?: boolean;
}

function Form({ schema, onSubmit, submitLabel = 'Run', busy = false }: InputsFormProps) {
  const shape = useMemo(() => describeSchema(schema), [schema]);
  const [values, setValues] = useState<FormValues>(() => initialValues(shape));
  const [rootText, setRootText] = useState('{}');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const id = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const collected = collectInputs(shape, values, rootText);
    if (!collected.ok) {
      setErrors(collected.errors);
      // The first bad field gets the focus, so a keyboard user lands where the message is.
      const first = Object.keys(collected.errors)[0];
      if (first !== undefined) document.getElementById(`${id}-${first}`)?.focus();
      return;
    }
    setErrors({});
    onSubmit(collected.inputs);
  };
  const set = (key: string, value: FieldValue) => setValues((current) => ({ ...current, [key]: value }));
  const count = Object.keys(errors).length;

  return (
    <form className="inputs-form" onSubmit={submit} noValidate>
      {shape.kind === 'json' ? (
        <div className="field">
          <label htmlFor={`${id}-`}>Inputs (JSON)</label>
          <p className="small muted">{shape.why}</p>
          <textarea
            id={`${id}-`}
            rows={6}
            value={rootText}
            spellCheck={false}
            aria-invalid={errors[''] ? true : undefined}
            aria-describedby={errors[''] ? `${id}--error` : undefined}
            onChange={(e) => setRootText(e.target.value)}
          />
          <FieldError id={`${id}--error`} message={errors['']} />
        </div>
      ) : (
        shape.fields.map((field) => (
          <FieldInput key={field.key} field={field} prefix={id} values={values} errors={errors} set={set} />
        ))
      )}
      {count > 0 && (
        <p className="error-text" role="alert">
          {count === 1 ? 'One field needs' : `${count} fields need`} attention before this can run.
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Starting…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

function FieldInput({
  field,
  prefix,
  values,
  errors,
  set,
}: {
  field: Field;
  prefix: string;
  values: FormValues;
  errors: Record<string, string>;
  set: (key: string, value: FieldValue) => void;
}) {
  const id = `${prefix}-${field.key}`;
  const error = errors[field.key];
  const described = [field.description && `${id}-help`, error && `${id}-error`].filter(Boolean).join(' ');
  const common = {
    id,
    name: field.name,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': described || undefined,
    'aria-required': field.required || undefined,
  };
  const value = values[field.key];
  const text = typeof value === 'string' ? value : '';

  if (field.kind === 'object') {
    return (
      <fieldset className="field-group">
        <legend>
          {field.label}
          {field.required && <Required />}
        </legend>
        {field.description && <p className="small muted">{field.description}</p>}
        {field.fields.map((inner) => (
          <FieldInput key={inner.key} field={inner} prefix={prefix} values={values} errors={errors} set={set} />
        ))}
      </fieldset>
    );
  }
  if (field.kind === 'choices') {
    const ticked = Array.isArray(value) ? value : [];
    return (
      <fieldset className="field field-group" aria-describedby={described || undefined}>
        <legend>
          {field.label}
          {field.required && <Required />}
        </legend>
        <Help id={`${id}-help`} field={field} />
        <div className="choices">
          {field.options.map((option, index) => (
            <label key={index} className="choice">
              <input
                type="checkbox"
                id={index === 0 ? id : undefined}
                checked={ticked.includes(index)}
                onChange={(e) =>
                  set(field.key, e.target.checked ? [...ticked, index] : ticked.filter((i) => i !== index))
                }
              />{' '}
              {optionLabel(option)}
            </label>
          ))}
        </div>
        <FieldError id={`${id}-error`} message={error} />
      </fieldset>
    );
  }
  if (field.kind === 'boolean' && isCheckbox(field)) {
    return (
      <div className="field">
        <label className="choice">
          <input
            {...common}
            type="checkbox"
            checked={value === true}
            onChange={(e) => set(field.key, e.target.checked)}
          />{' '}
          {field.label}
        </label>
        <Help id={`${id}-help`} field={field} />
        <FieldError id={`${id}-error`} message={error} />
      </div>
    );
  }

  let control: ReactNode;
  if (field.kind === 'boolean') {
    control = (
      <select {...common} value={text} onChange={(e) => set(field.key, e.target.value)}>
        <option value="">(not given)</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (field.kind === 'enum') {
    control = (
      <select {...common} value={text} onChange={(e) => set(field.key, e.target.value)}>
        {(!field.required || field.default === undefined) && (
          <option value="">{field.required ? '(choose one)' : '(not given)'}</option>
        )}
        {field.options.map((option, index) => (
          <option key={index} value={String(index)}>
            {optionLabel(option)}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'json' || field.kind === 'array' || (field.kind === 'string' && field.multiline)) {
    control = (
      <textarea
        {...common}
        rows={field.kind === 'json' ? 4 : 3}
        spellCheck={field.kind === 'string'}
        value={text}
        onChange={(e) => set(field.key, e.target.value)}
      />
    );
  } else {
    const numeric = field.kind === 'number' || field.kind === 'integer';
    control = (
      <input
        {...common}
        type="text"
        inputMode={field.kind === 'integer' ? 'numeric' : numeric ? 'decimal' : undefined}
        value={text}
        onChange={(e) => set(field.key, e.target.value)}
      />
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>
        {field.label}
        {field.required && <Required />} <span className="muted small">{kindLabel(field)}</span>
      </label>
      <Help id={`${id}-help`} field={field} />
      {control}
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
}

function kindLabel(field: Field): string {
  switch (field.kind) {
    case 'json':
      return 'JSON';
    case 'array':
      return `list of ${field.items}s`;
    case 'enum':
      return 'one of';
    default:
      return field.kind;
  }
}

function Help({ id, field }: { id: string; field: Field }) {
  const bounds = describeBounds(field);
  const why = field.kind === 'json' ? `JSON, since ${field.why}` : undefined;
  if (!field.description && !bounds && !why) return null;
  return (
    <p className="small muted" id={id}>
      {[field.description, bounds, why].filter(Boolean).join(' · ')}
    </p>
  );
}

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="error-text small" id={id}>
      {message}
    </p>
  );
}

function Required() {
  return (
    <span className="required" title="required">
      {' '}
      *
    </span>
  );
}
