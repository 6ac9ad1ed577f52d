package tower

import (
	"context"
	"errors"
	"fmt"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Said reports whether a post with origin was ever queued, to any group
// (store.UnregisteredOrigin: the sender has been told today how to
// register, wherever).
func (t *Tower) Said(ctx context.Context, origin store.Origin) (bool, error) {
	return t.st.OutboxHasOrigin(ctx, origin)
}

// Register links the platform account (platform, userID) that sent
// message messageID to the roster person with that name and phone (登记),
// so the directory knows the account from then on. It returns what was
// done and the sentence that says so. Nothing changes on a refusal, and a
// refusal says nothing of anyone else: a phone not in the roster and a
// phone under another name get the same answer.
func (t *Tower) Register(ctx context.Context, platform, userID, name, phone string, messageID int64) (*store.Registration, string, error) {
	if userID == "" {
		return nil, "", refused(texts.RegisterNoAccount, "no platform user id")
	}
	reg, err := t.st.RegisterIdentity(ctx, platform, userID, name, phone, messageID)
	switch {
	case errors.Is(err, store.ErrNoRosterMatch):
		return nil, "", &Error{Code: NotFound, Message: texts.RegisterNoMatch, Detail: "no roster person with that name and phone"}
	case errors.Is(err, store.ErrPersonHasAccount):
		return nil, "", refused(fmt.Sprintf(texts.RegisterTaken, store.RosterPlatformName(platform)),
			"the person already has another account on the platform")
	case err != nil:
		return nil, "", err
	case reg.Already:
		return reg, fmt.Sprintf(texts.RegisterAlready, reg.Person.Name), nil
	}
	return reg, fmt.Sprintf(texts.Registered, reg.Person.Name, pii.MaskPhone(reg.Person.Phone)), nil
}
