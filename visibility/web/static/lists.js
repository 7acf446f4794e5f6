// lists: selection and bulk actions on the queue and news lists (progressive enhancement).
