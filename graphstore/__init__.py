"""The knowledge graph in Neo4j: one driver (client.py), neomodel nodes, writes (services) and reads (selectors)."""
