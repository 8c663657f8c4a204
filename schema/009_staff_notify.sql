-- Any change to staff or their presence tells every flowd process to forget the staff rows
-- it keeps in memory for action.assign (server/staffcache.c). Statement triggers: one
-- notification per change, whatever the number of rows (identical ones are merged per
-- transaction).
CREATE FUNCTION flowd_staff_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('flowd_staff', '');
  RETURN NULL;
END $$;

CREATE TRIGGER staff_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staff
  FOR EACH STATEMENT EXECUTE FUNCTION flowd_staff_changed();
CREATE TRIGGER staff_presence_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON staff_presence FOR EACH STATEMENT EXECUTE FUNCTION flowd_staff_changed();
