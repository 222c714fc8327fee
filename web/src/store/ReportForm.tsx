import { useState, type FormEvent } from 'react';
import { Field } from '../shared/ui';
import { CameraInput } from './CameraInput';

/** A field report to head office, with a photo if wanted (queued like every fact, so it also works offline). */
export function ReportForm(props: {
  onFile: (title: string, body: string, photo?: { blob: Blob; name: string }) => void;
  onCancel: () => void;
}) {
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [photo, setPhoto] = useState<File>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (title.trim() && body.trim()) {
      props.onFile(title.trim(), body.trim(), photo ? { blob: photo, name: photo.name || 'photo.jpg' } : undefined);
    }
  };
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="report-title">
      <h2 id="report-title">File a field report</h2>
      <Field label="Title">
        {(id) => (
          <input id={id} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} required autoFocus />
        )}
      </Field>
      <Field label="What happened" hint="Head office sees it live in the reports inbox.">
        {(id) => (
          <textarea id={id} value={body} maxLength={10_000} onChange={(e) => setBody(e.target.value)} required />
        )}
      </Field>
      <Field label="Photo (optional)">{(id) => <CameraInput id={id} photo={photo} onPhoto={setPhoto} />}</Field>
      <div className="actions">
        <button type="submit" className="primary">
          Send report
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
