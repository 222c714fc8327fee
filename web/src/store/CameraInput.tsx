import { useEffect, useMemo } from 'react';

/**
 * The tablet's camera: a file input that opens the rear camera on phones and tablets
 * (`capture="environment"`), with a preview of the picture taken.
 */
export function CameraInput(props: { id: string; photo?: File; onPhoto: (photo: File | undefined) => void }) {
  const preview = useObjectUrl(props.photo);
  return (
    <div className="stack">
      {preview && <img className="photo-preview" src={preview} alt="The photo to send" />}
      <input
        id={props.id}
        type="file"
        accept="image/*"
        capture="environment"
        onChange={(e) => props.onPhoto(e.target.files?.[0])}
      />
    </div>
  );
}

/** An object URL for a picked file, revoked when it changes or the form goes. */
function useObjectUrl(file: Blob | undefined): string | undefined {
  const url = useMemo(() => (file ? URL.createObjectURL(file) : undefined), [file]);
  useEffect(
    () => () => {
      if (url) URL.revokeObjectURL(url);
    },
    [url],
  );
  return url;
}
