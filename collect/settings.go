package collect

import (
	"net/http"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
)

// settings serves the settings document Segment's browser library
// (analytics.js / analytics-next) fetches before it sends anything; it points
// the library back at this server.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request) {
	src := h.Inventory.SourceByWriteKey(r.PathValue("writeKey"))
	if src == nil {
		api.Error(w, r, h.Log, garde.Errorf(garde.ENotFound, "unknown write key"))
		return
	}
	protocol := "http"
	if r.TLS != nil {
		protocol = "https"
	}
	api.JSON(w, http.StatusOK, map[string]any{
		"integrations": map[string]any{
			"Segment.io": map[string]any{
				"apiKey":   src.WriteKey,
				"apiHost":  r.Host + "/v1",
				"protocol": protocol,
			},
		},
		"plan":                      map[string]any{"track": map[string]any{"__default": map[string]any{"enabled": true}}},
		"edgeFunction":              map[string]any{},
		"analyticsNextEnabled":      true,
		"middlewareSettings":        map[string]any{},
		"enabledMiddleware":         map[string]any{},
		"metrics":                   map[string]any{"sampleRate": 0},
		"legacyVideoPluginsEnabled": false,
		"remotePlugins":             []any{},
	})
}

// sourceConfig serves the source configuration RudderStack's JavaScript SDK
// fetches (write key as Basic user, or ?writeKey=): no destinations, since
// Garde is the destination.
func (h *Handler) sourceConfig(w http.ResponseWriter, r *http.Request) {
	key, _, ok := r.BasicAuth()
	if !ok {
		key = r.URL.Query().Get("writeKey")
	}
	src := h.Inventory.SourceByWriteKey(key)
	if src == nil {
		api.Error(w, r, h.Log, garde.Errorf(garde.EUnauthorized, "unknown or missing write key"))
		return
	}
	api.JSON(w, http.StatusOK, map[string]any{
		"isHosted": false,
		"source": map[string]any{
			"id":           src.Key,
			"name":         src.Key,
			"writeKey":     src.WriteKey,
			"enabled":      true,
			"workspaceId":  "garde",
			"config":       map[string]any{},
			"destinations": []any{},
		},
	})
}
