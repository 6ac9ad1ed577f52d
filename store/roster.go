package store

// Roster is a whole roster, already checked by the roster package: the nodes
// of the tree, the people with their roles and platform accounts, and the
// houses with their rooms and tenants. ApplyRoster writes it.
type Roster struct {
	Nodes  []RosterNode
	People []RosterPerson
	Houses []RosterHouse
}

// RosterNode is one node; ParentCode is "" for the root.
type RosterNode struct {
	Code       string
	Name       string
	Tier       int
	ParentCode string
	Groups     []RosterGroup // platform groups bound to this node
}

// RosterGroup is a platform chat bound to a node.
type RosterGroup struct {
	Platform string
	ChatID   string
	Name     string
	Webhook  string
}

// RosterPerson is one person, keyed by phone.
type RosterPerson struct {
	Name       string
	Phone      string
	Roles      []RosterRole
	Identities map[string]string // platform → user id
}

// RosterRole is a role at the node with NodeCode.
type RosterRole struct {
	NodeCode string
	Role     string
}

// RosterHouse is a rented house, keyed by address.
type RosterHouse struct {
	Address       string
	NodeCode      string // the landlord's node
	LandlordPhone string
	Rooms         []RosterRoom
}

// RosterRoom is a room and the phones of its tenants.
type RosterRoom struct {
	Number       string
	TenantPhones []string
}
