"""The camera registry: owners register their cameras, officers find cameras near an incident and request
footage, owners upload through a secure link."""
