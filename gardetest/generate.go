// Package gardetest holds what Garde's tests, benchmarks, load tool and demo
// share: the synthetic data generator, which produces realistic Segment
// messages for the built-in example inventory. Every person it makes up is
// fictitious (example.* domains, unassigned numbers).
package gardetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Write keys of the example inventory's sources.
const (
	WebKey     = "demo-web-key"
	IOSKey     = "demo-ios-key"
	AndroidKey = "demo-android-key"
	ServerKey  = "demo-server-key"
	IoTKey     = "demo-iot-key"
	LoyaltyKey = "demo-loyalty-key"
	POSKey     = "demo-pos-key"
)

// Person is a made-up customer.
type Person struct {
	UserID      string
	AnonymousID string
	FirstName   string
	LastName    string
	Email       string
	Phone       string
	Street      string
	City        string
	Postcode    string
}

// Generator makes people and their events. It is deterministic for a seed
// and not safe for concurrent use.
type Generator struct {
	r   *rand.Rand
	seq int
	now time.Time
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
}

var (
	firstNames = []string{"Camille", "Léa", "Manon", "Chloé", "Inès", "Louise", "Jade", "Emma", "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Noé", "Raphaël", "Zoé", "Adam", "Alice", "Mathis"}
	lastNames  = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier"}
	streets    = []string{"rue de la Paix", "avenue Victor Hugo", "boulevard Saint-Michel", "rue du Faubourg Saint-Antoine", "place Bellecour", "cours Mirabeau", "quai des Chartrons", "rue Nationale"}
	cities     = []struct{ name, postcode string }{{"Paris", "75011"}, {"Lyon", "69002"}, {"Marseille", "13001"}, {"Bordeaux", "33000"}, {"Lille", "59000"}, {"Nantes", "44000"}, {"Toulouse", "31000"}, {"Strasbourg", "67000"}}
	products   = []struct {
		id, name, category string
		price              float64
	}{{"LMP-204", "Lampe Opaline", "luminaires", 89.9}, {"SUS-118", "Suspension Laiton", "luminaires", 249}, {"BOU-031", "Bougie Figuier", "senteurs", 34.5}, {"COU-412", "Coussin Lin Lavé", "textile", 45}, {"VAS-077", "Vase Grès Émaillé", "décoration", 62}, {"MIR-009", "Miroir Soleil", "décoration", 189}}
)

// Person makes up a new customer.
func (g *Generator) Person() Person {
	g.seq++
	first := firstNames[g.r.IntN(len(firstNames))]
	last := lastNames[g.r.IntN(len(lastNames))]
	city := cities[g.r.IntN(len(cities))]
	return Person{
		UserID:      fmt.Sprintf("cust-%08d", g.seq),
		AnonymousID: fmt.Sprintf("anon-%016x", g.r.Uint64()),
		FirstName:   first,
		LastName:    last,
		Email:       fmt.Sprintf("%s.%s.%d@example.com", ascii(first), ascii(last), g.seq),
		Phone:       fmt.Sprintf("+33 6 %02d %02d %02d %02d", g.r.IntN(100), g.r.IntN(100), g.r.IntN(100), g.r.IntN(100)),
		Street:      fmt.Sprintf("%d %s", 1+g.r.IntN(120), streets[g.r.IntN(len(streets))]),
		City:        city.name,
		Postcode:    city.postcode,
	}
}

func ascii(s string) string {
	return strings.ToLower(strings.NewReplacer("é", "e", "ë", "e", "è", "e", "ï", "i", "ô", "o", "ç", "c").Replace(s))
}

func (g *Generator) stamp() string {
	g.now = g.now.Add(time.Duration(g.r.IntN(5000)) * time.Millisecond)
	return g.now.Format(time.RFC3339Nano)
}

func (g *Generator) messageID() string {
	return fmt.Sprintf("msg-%016x%016x", g.r.Uint64(), g.r.Uint64())
}

func (g *Generator) context(p Person) map[string]any {
	return map[string]any{
		"ip":        fmt.Sprintf("203.0.113.%d", 1+g.r.IntN(250)),
		"userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"locale":    "fr-FR",
		"library":   map[string]any{"name": "analytics-node", "version": "2.1.0"},
	}
}

// Order is an "Order Completed" track call of about 600 bytes with three
// personal properties (email, phone, shipping address): the benchmark's event.
func (g *Generator) Order(p Person) map[string]any {
	prod := products[g.r.IntN(len(products))]
	qty := 1 + g.r.IntN(3)
	return map[string]any{
		"type": "track", "event": "Order Completed", "userId": p.UserID, "messageId": g.messageID(), "timestamp": g.stamp(),
		"properties": map[string]any{
			"order_id": fmt.Sprintf("ORD-2026-%06d", g.r.IntN(1_000_000)),
			"total":    float64(qty) * prod.price, "currency": "EUR", "coupon": "AUTOMNE10",
			"products": []any{map[string]any{"product_id": prod.id, "name": prod.name, "price": prod.price, "quantity": qty}},
			"email":    p.Email, "phone": p.Phone,
			"shipping_address": map[string]any{"street": p.Street, "city": p.City, "postal_code": p.Postcode, "country": "FR"},
		},
		"context": g.context(p),
	}
}

// Identify is an identify call with the person's traits.
func (g *Generator) Identify(p Person) map[string]any {
	return map[string]any{
		"type": "identify", "userId": p.UserID, "anonymousId": p.AnonymousID, "messageId": g.messageID(), "timestamp": g.stamp(),
		"traits": map[string]any{
			"email": p.Email, "phone": p.Phone, "first_name": p.FirstName, "last_name": p.LastName,
			"name": p.FirstName + " " + p.LastName, "plan": "premium", "loyalty_tier": "gold",
		},
	}
}

// Browse is what a visitor does before signing in: a page and a product view
// under the anonymous id only.
func (g *Generator) Browse(p Person) []map[string]any {
	prod := products[g.r.IntN(len(products))]
	return []map[string]any{
		{"type": "page", "anonymousId": p.AnonymousID, "messageId": g.messageID(), "timestamp": g.stamp(), "name": "Produit",
			"properties": map[string]any{"url": "https://shop.maison-lumiere.example/p/" + prod.id, "path": "/p/" + prod.id, "title": prod.name + " — Maison Lumière"},
			"context":    g.context(p)},
		{"type": "track", "anonymousId": p.AnonymousID, "messageId": g.messageID(), "timestamp": g.stamp(), "event": "Product Viewed",
			"properties": map[string]any{"product_id": prod.id, "name": prod.name, "price": prod.price, "category": prod.category, "currency": "EUR"},
			"context":    g.context(p)},
	}
}

// Journey is a realistic sequence for one person: browsing anonymously,
// signing in, ordering, and a support ticket with personal data typed into
// free text (which must be redacted).
func (g *Generator) Journey(p Person) []map[string]any {
	msgs := g.Browse(p)
	msgs = append(msgs, g.Identify(p), g.Order(p))
	msgs = append(msgs, map[string]any{
		"type": "track", "userId": p.UserID, "messageId": g.messageID(), "timestamp": g.stamp(), "event": "Support Ticket Opened",
		"properties": map[string]any{"topic": "livraison", "message": "Bonjour, rappelez-moi au " + p.Phone + " ou écrivez à " + p.Email + ", merci !"},
	})
	return msgs
}

// Consent is the body of a banner decision by the person's browser
// (anonymous id) accepting the given purposes, for POST /v1/consent.
func (g *Generator) Consent(p Person, purposes ...string) map[string]any {
	d := map[string]any{}
	for _, k := range purposes {
		d[k] = "given"
	}
	return map[string]any{
		"anonymousId": p.AnonymousID, "decisions": d, "source": "banner",
		"notice": map[string]any{"version": 1, "language": "fr"}, "country": "FR",
		"age": map[string]any{"status": "adult", "method": "self_declared"},
	}
}
