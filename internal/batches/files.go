package batches

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// defaultFileLimit is OpenAI's limit of a batch input file.
const defaultFileLimit = 200 << 20

// fileObject is OpenAI's File.
// https://platform.openai.com/docs/api-reference/files/object
type fileObject struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details"`
}

func newFileObject(f *llmservice.File) fileObject {
	o := fileObject{ID: f.ID, Object: "file", Bytes: f.Bytes, CreatedAt: f.CreatedAt.Unix(), Filename: f.Filename, Purpose: f.Purpose, Status: "processed"}
	if !f.ExpiresAt.IsZero() {
		e := f.ExpiresAt.Unix()
		o.ExpiresAt = &e
	}
	return o
}

// authOpenAI reads the bearer key of the OpenAI-style endpoints
// (Authenticate checks the key's IP allowlist).
func (h *Handler) authOpenAI(r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "You didn't provide an API key. Provide it in the Authorization header as 'Bearer <key>'."}
	}
	return h.GW.Authenticate(r.Context(), tok)
}

func (h *Handler) fileLimit() int64 {
	if h.FileLimit > 0 {
		return h.FileLimit
	}
	return defaultFileLimit
}

// createFile is POST /v1/files (multipart: file, purpose).
func (h *Handler) createFile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.fileLimit()+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return llmservice.Errorf(llmservice.Invalid, "the request must be multipart/form-data with the fields 'file' and 'purpose'")
	}
	var (
		purpose, filename string
		content           []byte
		haveFile          bool
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return readError(err, h.fileLimit())
		}
		switch part.FormName() {
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil {
				return readError(err, h.fileLimit())
			}
			purpose = strings.TrimSpace(string(b))
		case "file":
			filename, haveFile = part.FileName(), true
			if content, err = readPart(part, h.fileLimit()); err != nil {
				return err
			}
		}
		part.Close()
	}
	switch {
	case !haveFile:
		return llmservice.InvalidParam("file", "Missing required parameter: 'file'.")
	case purpose == "":
		return llmservice.InvalidParam("purpose", "Missing required parameter: 'purpose'.")
	case purpose != "batch":
		return llmservice.InvalidParam("purpose", "Invalid value for 'purpose': only 'batch' files are supported by this server.")
	}
	if filename == "" {
		filename = "upload.jsonl"
	}
	f := &llmservice.File{ID: newFileID(), TeamID: p.Team.ID, Purpose: purpose, Filename: filename, Content: content, CreatedAt: h.now()}
	if err := h.Store.CreateFile(r.Context(), f); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newFileObject(f))
}

// readPart reads a file part, refusing more than limit bytes.
func readPart(part *multipart.Part, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return nil, readError(err, limit)
	}
	if int64(len(b)) > limit {
		return nil, llmservice.Errorf(llmservice.TooLarge, "the file is larger than the limit of %d bytes", limit)
	}
	return b, nil
}

func readError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return llmservice.Errorf(llmservice.TooLarge, "the upload is larger than the limit of %d bytes", limit)
	}
	return llmservice.Errorf(llmservice.Invalid, "could not read the multipart body: %v", err)
}

// listFiles is GET /v1/files (purpose, limit, after, order).
func (h *Handler) listFiles(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 10000, 1, 10000)
	if err != nil {
		return err
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		return llmservice.InvalidParam("order", "order must be asc or desc")
	}
	fs, more, err := h.Store.FindFiles(r.Context(), llmservice.FileFilter{TeamID: p.Team.ID, Purpose: q.Get("purpose"), After: q.Get("after"), Limit: limit, Asc: order == "asc"})
	if err != nil {
		return err
	}
	data := make([]fileObject, len(fs))
	for i, f := range fs {
		data[i] = newFileObject(f)
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(data, more, func(f fileObject) string { return f.ID }))
}

func (h *Handler) getFile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	f, err := h.Store.FindFileByID(r.Context(), p.Team.ID, r.PathValue("id"))
	if err != nil {
		return noSuchFile(err, r.PathValue("id"))
	}
	return httpx.WriteJSON(w, http.StatusOK, newFileObject(f))
}

// fileContent is GET /v1/files/{id}/content: the bytes as stored.
func (h *Handler) fileContent(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	b, err := h.Store.FindFileContent(r.Context(), p.Team.ID, r.PathValue("id"))
	if err != nil {
		return noSuchFile(err, r.PathValue("id"))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

func (h *Handler) deleteFile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.Store.DeleteFile(r.Context(), p.Team.ID, id); err != nil {
		return noSuchFile(err, id)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "object": "file", "deleted": true})
}

// noSuchFile words a missing file as OpenAI does.
func noSuchFile(err error, id string) error {
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return &llmservice.Error{Kind: llmservice.NotFound, Param: "id", Code: "file_not_found", Message: "No such File object: " + id}
	}
	return err
}

// listPage is OpenAI's cursor page.
type listPage[T any] struct {
	Object  string  `json:"object"`
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

func newList[T any](data []T, more bool, id func(T) string) listPage[T] {
	l := listPage[T]{Object: "list", Data: data, HasMore: more}
	if len(data) > 0 {
		first, last := id(data[0]), id(data[len(data)-1])
		l.FirstID, l.LastID = &first, &last
	}
	return l
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(s, name string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, llmservice.InvalidParam(name, "%s must be an integer between %d and %d", name, lo, hi)
	}
	return n, nil
}
